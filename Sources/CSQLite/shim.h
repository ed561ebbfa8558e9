#ifndef STACKLAB_CSQLITE_SHIM_H
#define STACKLAB_CSQLITE_SHIM_H
// SQLite, the store's storage and query engine (Debian: libsqlite3-dev, built with SQLITE_ENABLE_SESSION and
// SQLITE_ENABLE_PREUPDATE_HOOK).
//
// SQLITE_TRANSIENT and SQLITE_STATIC are macros that cast an integer to a function pointer, which Swift cannot
// import: the bind and result calls the store needs are wrapped below with SQLite copying the bytes.
#include <sqlite3.h>

static inline int sh_sqlite3_bind_text(sqlite3_stmt *s, int i, const char *text, int bytes) {
    return sqlite3_bind_text(s, i, text, bytes, SQLITE_TRANSIENT);
}
static inline int sh_sqlite3_bind_blob(sqlite3_stmt *s, int i, const void *data, int bytes) {
    return sqlite3_bind_blob(s, i, data, bytes, SQLITE_TRANSIENT);
}
static inline void sh_sqlite3_result_blob(sqlite3_context *c, const void *data, int bytes) {
    sqlite3_result_blob(c, data, bytes, SQLITE_TRANSIENT);
}
static inline void sh_sqlite3_result_text(sqlite3_context *c, const char *text, int bytes) {
    sqlite3_result_text(c, text, bytes, SQLITE_TRANSIENT);
}

// Extended result codes are macros of expressions, which Swift does not import: the ones the store maps to
// MySQL errors, repeated as constants.
static const int SH_SQLITE_BUSY_SNAPSHOT = SQLITE_BUSY_SNAPSHOT;
static const int SH_SQLITE_CONSTRAINT_UNIQUE = SQLITE_CONSTRAINT_UNIQUE;
static const int SH_SQLITE_CONSTRAINT_PRIMARYKEY = SQLITE_CONSTRAINT_PRIMARYKEY;
static const int SH_SQLITE_CONSTRAINT_NOTNULL = SQLITE_CONSTRAINT_NOTNULL;
#endif
