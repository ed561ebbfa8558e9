import Foundation
import Testing
@testable import StackLabStore

@Suite("The real mariadb client against the miniature", .enabled(if: MariaDBClient.available))
struct MariaDBClientTests {
    @Test func createInsertSelectPrintsLikeMySQL() async throws {
        let server = try await TestServer.start()
        defer { Task { await server.stop() } }
        let out = try MariaDBClient.run(port: server.port, ["-t", "-e", """
            CREATE DATABASE foobar; USE foobar;
            CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64), body TEXT);
            INSERT INTO posts (author, body) VALUES ('alice', 'hello'), ('bob', NULL);
            SELECT * FROM posts ORDER BY id;
            """])
        print(out.stdout, out.stderr)
        #expect(out.status == 0)
        #expect(out.stdout == """
            +----+--------+-------+
            | id | author | body  |
            +----+--------+-------+
            |  1 | alice  | hello |
            |  2 | bob    | NULL  |
            +----+--------+-------+

            """)
    }
}
