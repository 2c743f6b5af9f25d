#include "ffi/pq.hpp"

#include "qiancun/log.hpp"

#include "testing/postgres.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

namespace qiancun {
namespace {

using qiancun::testing::pg_server;
using ::testing::HasSubstr;
using ::testing::StartsWith;

ffi::PgConn connect() {
    return ffi::PgConn(pg_server().uri, "the test server");
}

TEST(PostgresServer, RunsPostgreSql15WithPostGis3) {
    const auto conn = connect();
    const auto r = conn.exec("asking for the versions",
                             "SELECT current_setting('server_version_num')::int, "
                             "PostGIS_Lib_Version(), PostGIS_GEOS_Version(), current_user");
    ASSERT_EQ(r.rows(), 1);
    EXPECT_GE(r.integer(0, 0), 150000);
    EXPECT_LT(r.integer(0, 0), 160000);
    EXPECT_THAT(std::string(r.text(0, 1)), StartsWith("3."));
    EXPECT_FALSE(r.is_null(0, 2));
    EXPECT_EQ(r.text(0, 3), "postgres");
    EXPECT_EQ(conn.user(), "postgres");
}

TEST(PostgresServer, ListensOnLoopbackOnly) {
    const auto conn = connect();
    const auto r = conn.exec("reading listen_addresses", "SHOW listen_addresses");
    EXPECT_EQ(r.text(0, 0), "127.0.0.1");
}

TEST(Pq, ParametersRoundTripTextNumbersBytesAndNull) {
    const auto conn = connect();
    const std::string text = "东山村 'quoted' \"double\" ; DROP TABLE x; --";
    const double third = 1.0 / 3.0;
    const std::string bytes("\x00\x01\xff\x5c\x27", 5);
    ffi::PgParams p;
    p.text(text)
        .real(third)
        .integer(std::numeric_limits<std::int64_t>::min())
        .bytes(bytes)
        .null()
        .boolean(true)
        .real(5e-324);
    const auto r = conn.exec("echoing parameters",
                             "SELECT $1::text, $2::float8, $3::int8, $4::bytea, $5::text, "
                             "$6::bool, $7::float8, length($4::bytea)",
                             p);
    ASSERT_EQ(r.rows(), 1);
    EXPECT_EQ(r.text(0, 0), text);
    EXPECT_EQ(r.real(0, 1), third); // exact: shortest round-trip text both ways
    EXPECT_EQ(r.integer(0, 2), std::numeric_limits<std::int64_t>::min());
    EXPECT_EQ(r.bytes(0, 3), bytes);
    EXPECT_TRUE(r.is_null(0, 4));
    EXPECT_FALSE(r.is_null(0, 0));
    EXPECT_TRUE(r.boolean(0, 5));
    EXPECT_EQ(r.real(0, 6), 5e-324);
    EXPECT_EQ(r.integer(0, 7), 5);
}

TEST(Pq, GeometryTravelsAsWkbBytes) {
    const auto conn = connect();
    // WKB of POINT(500000 3320000), little endian, written by hand.
    std::string wkb("\x01\x01\x00\x00\x00", 5);
    const double xy[2] = {500000.0, 3320000.0};
    wkb.append(reinterpret_cast<const char *>(xy), sizeof xy);
    const auto r = conn.exec("reading a point",
                             "SELECT ST_AsText(g), ST_SRID(g), ST_AsBinary(g) FROM "
                             "(SELECT ST_GeomFromWKB($1, 4549) AS g) s",
                             ffi::PgParams().bytes(wkb));
    EXPECT_EQ(r.text(0, 0), "POINT(500000 3320000)");
    EXPECT_EQ(r.integer(0, 1), 4549);
    EXPECT_EQ(r.bytes(0, 2), wkb);
}

TEST(Pq, ErrorNamesThePurposeTheServerMessageAndSqlState) {
    const auto conn = connect();
    try {
        conn.exec("reading the villages", "SELECT * FROM no_such_table_here");
        FAIL() << "no error";
    } catch (const ffi::PgError &e) {
        EXPECT_EQ(std::string(e.what()),
                  "reading the villages: relation \"no_such_table_here\" does not exist");
        EXPECT_EQ(e.sqlstate(), "42P01");
        EXPECT_EQ(e.server_message(), "relation \"no_such_table_here\" does not exist");
    }
    // The connection stays usable.
    EXPECT_EQ(conn.exec("one", "SELECT 1").integer(0, 0), 1);
}

TEST(Pq, QuotedIdentifiersNameExactlyThatTable) {
    const qiancun::testing::TempSchema schema("pq_quote");
    const auto conn = connect();
    const std::string weird = "a \"b\"; DROP SCHEMA public; 村";
    const auto s = conn.quote_identifier(schema.name());
    const auto t = conn.quote_identifier(weird);
    EXPECT_EQ(t, "\"a \"\"b\"\"; DROP SCHEMA public; 村\"");
    conn.exec("creating the schema", "CREATE SCHEMA " + s);
    conn.exec("creating the table", "CREATE TABLE " + s + "." + t + " (v int)");
    const auto r = conn.exec("finding the table",
                             "SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND "
                             "tablename = $2",
                             ffi::PgParams().text(schema.name()).text(weird));
    EXPECT_EQ(r.integer(0, 0), 1);
    EXPECT_EQ(conn.exec("public", "SELECT count(*) FROM pg_namespace WHERE nspname = 'public'")
                  .integer(0, 0),
              1);
}

TEST(Pq, TransactionRollsBackUnlessCommitted) {
    const qiancun::testing::TempSchema schema("pq_tx");
    const auto conn = connect();
    const auto table = conn.quote_identifier(schema.name()) + ".t";
    conn.exec("schema", "CREATE SCHEMA " + conn.quote_identifier(schema.name()));
    conn.exec("table", "CREATE TABLE " + table + " (v int)");
    {
        ffi::PgTransaction tx(conn);
        conn.exec("insert", "INSERT INTO " + table + " VALUES ($1)", ffi::PgParams().integer(1));
    }
    EXPECT_EQ(conn.exec("count", "SELECT count(*) FROM " + table).integer(0, 0), 0);
    {
        ffi::PgTransaction tx(conn);
        const auto r = conn.exec("insert", "INSERT INTO " + table + " VALUES ($1), ($2)",
                                 ffi::PgParams().integer(1).integer(2));
        EXPECT_EQ(r.affected(), 2);
        tx.commit();
    }
    EXPECT_EQ(conn.exec("count", "SELECT count(*) FROM " + table).integer(0, 0), 2);
}

TEST(Pq, ServerNoticesGoToTheLogSinkNotStderr) {
    std::vector<std::string> seen;
    set_log_sink([&](LogLevel, std::string_view m) { seen.emplace_back(m); });
    {
        const auto conn = connect();
        ::testing::internal::CaptureStderr();
        conn.exec("raising a notice", "DO $$ BEGIN RAISE NOTICE 'hello from the server'; END $$");
        EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
    }
    set_log_sink({});
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_THAT(seen[0], HasSubstr("hello from the server"));
}

TEST(Pq, ConnectionFailureNamesTheServer) {
    try {
        // Port 1 on loopback: nothing listens there.
        ffi::PgConn conn("postgresql://postgres@127.0.0.1:1/qiancun_test", "127.0.0.1:1");
        FAIL() << "connected";
    } catch (const DatabaseError &e) {
        EXPECT_THAT(std::string(e.what()), StartsWith("cannot connect to 127.0.0.1:1: "));
        EXPECT_THAT(std::string(e.what()), HasSubstr("Connection refused"));
    }
}

} // namespace
} // namespace qiancun
