-- Run once, when the primary starts with an empty data folder.
-- root gets a password and is kept to this server, as on a real MySQL 8 install (only 'root'@'localhost'):
-- from anywhere else, even with the password, it is "Access denied". The replica copies these changes too.
ALTER USER 'root'@'localhost' IDENTIFIED BY 'root-secret';
DROP USER 'root'@'127.0.0.1', 'root'@'::1';
CREATE USER 'repl'@'127.0.1.%' IDENTIFIED BY 'repl-secret';
GRANT REPLICATION SLAVE ON *.* TO 'repl'@'127.0.1.%';
CREATE USER 'app'@'%' IDENTIFIED BY 'app-secret';
GRANT ALL PRIVILEGES ON foobar.* TO 'app'@'%';
CREATE DATABASE foobar;
CREATE TABLE foobar.posts (
  id INT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  author VARCHAR(64) NOT NULL,
  body TEXT NOT NULL,
  created_at DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
INSERT INTO foobar.posts (author, body) VALUES ('admin', 'Welcome to www.foobar.com!');
