import Foundation
import StackLabTestSupport
import Testing

/// The Python client libraries a learner's app would use — PyMySQL, mysql-connector-python and
/// SQLAlchemy (Core, reflection and the ORM) — against the store over a real socket, with the types they map
/// MySQL's to (DECIMAL to Decimal, DATETIME to datetime, BIGINT UNSIGNED to int).
@Suite("Python client libraries", .enabled(if: PythonClients.python != nil, "python3 with PyMySQL, mysql-connector-python and SQLAlchemy (make tools)"), .runsALab)
struct ClientLibraryTests {
    static let script = #"""
        import sys, decimal, datetime
        import pymysql, mysql.connector, sqlalchemy as sa
        from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, Session
        port = int(sys.argv[1])
        c = pymysql.connect(host="127.0.0.1", port=port, user="app", password="app", database="foobar")
        cur = c.cursor()
        cur.execute("CREATE TABLE posts (id INT AUTO_INCREMENT PRIMARY KEY, author VARCHAR(64) NOT NULL, price DECIMAL(10,2), at DATETIME)")
        cur.execute("INSERT INTO posts (author, price, at) VALUES (%s, %s, %s)", ("o'brien; --", decimal.Decimal("1.5"), datetime.datetime(2026, 12, 1, 10, 30)))
        c.commit()
        print("pymysql lastrowid", cur.lastrowid)
        cur.execute("SELECT author, price, at FROM posts WHERE author = %s", ("o'brien; --",))
        print("pymysql row", cur.fetchall())
        cur.execute("SELECT 0.1 + 0.2, 1/3, 1e15, 18446744073709551615, COUNT(*) FROM posts")
        print("pymysql numbers", cur.fetchall())
        m = mysql.connector.connect(host="127.0.0.1", port=port, user="app", password="app", database="foobar")
        mc = m.cursor()
        mc.execute("SELECT author, price FROM posts ORDER BY id")
        print("connector", mc.fetchall())
        m.close()
        engine = sa.create_engine(f"mysql+pymysql://app:app@127.0.0.1:{port}/foobar")
        with engine.connect() as conn:
            posts = sa.Table("posts", sa.MetaData(), autoload_with=conn)
            print("reflected", [(col.name, str(col.type)) for col in posts.columns])
            print("core", conn.execute(sa.select(posts.c.author, posts.c.price).where(posts.c.id == 1)).fetchall())
        class Base(DeclarativeBase): pass
        class Note(Base):
            __tablename__ = "notes"
            id: Mapped[int] = mapped_column(primary_key=True)
            text: Mapped[str] = mapped_column(sa.String(50))
            price = mapped_column(sa.Numeric(10, 2))
        Base.metadata.create_all(engine)
        with Session(engine) as s:
            s.add_all([Note(text="hi", price=decimal.Decimal("2.005")), Note(text="bye", price=3)])
            s.commit()
        with Session(engine) as s:
            print("orm", [(n.id, n.text, n.price) for n in s.query(Note).order_by(Note.id)])
        """#

    @Test func pyMySQLConnectorAndSQLAlchemyReadAndWriteWithMySQLsTypes() async throws {
        let python = try #require(PythonClients.python)
        let server = try await TestServer.start { $0.initStatements += ["CREATE DATABASE foobar"] }
        let out = try await ChildProcess.run(python, ["-c", Self.script, String(server.port)], timeout: 120)
        await server.stop()
        #expect(out.status == 0, "\(out.stderr)")
        let lines = out.stdout.split(separator: "\n").map(String.init)
        #expect(lines == [
            "pymysql lastrowid 1",
            "pymysql row ((\"o'brien; --\", Decimal('1.50'), datetime.datetime(2026, 12, 1, 10, 30)),)",
            "pymysql numbers ((Decimal('0.3'), Decimal('0.3333'), 1000000000000000.0, 18446744073709551615, 1),)",
            "connector [(\"o'brien; --\", Decimal('1.50'))]",
            "reflected [('id', 'INTEGER'), ('author', 'VARCHAR(64)'), ('price', 'DECIMAL(10, 2)'), ('at', 'DATETIME')]",
            "core [(\"o'brien; --\", Decimal('1.50'))]",
            "orm [(1, 'hi', Decimal('2.01')), (2, 'bye', Decimal('3.00'))]",
        ], "\(out.stdout)")
    }
}

enum PythonClients {
    /// python3, when it can import all three libraries.
    static let python: String? = {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/python3" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let path, let out = try? ChildProcess.runBlocking(path, ["-c", "import pymysql, mysql.connector, sqlalchemy"], timeout: 60),
              out.status == 0 else { return nil }
        return path
    }()
}
