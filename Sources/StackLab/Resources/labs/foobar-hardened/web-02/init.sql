-- Run once, when the replica starts with an empty data folder: where the primary is, and start copying from it.
-- The users and the foobar database arrive from the primary through replication, like every other change.
CHANGE REPLICATION SOURCE TO
  SOURCE_HOST = '127.0.1.11',
  SOURCE_PORT = 3306,
  SOURCE_USER = 'repl',
  SOURCE_PASSWORD = 'repl-secret',
  SOURCE_AUTO_POSITION = 1,
  SOURCE_CONNECT_RETRY = 1;
START REPLICA;
