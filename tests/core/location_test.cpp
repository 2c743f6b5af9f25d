#include "qiancun/error.hpp"
#include "qiancun/location.hpp"
#include "qiancun/registry.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

using namespace qiancun;
using ::testing::HasSubstr;
using ::testing::Not;

namespace {

/// The message of the UsageError that parsing `text` throws ("" when it parses).
std::string parse_error(const std::string &text) {
    try {
        Location::parse(text);
    } catch (const UsageError &e) {
        return e.what();
    }
    return {};
}

} // namespace

TEST(Location, PlainTextIsAFile) {
    const auto l = Location::parse("data/county.sqlite");
    EXPECT_TRUE(l.is_file());
    EXPECT_EQ(l.path(), std::filesystem::path("data/county.sqlite"));
    EXPECT_EQ(l.display(), "data/county.sqlite");
    EXPECT_EQ(l.conninfo(), "");
}

TEST(Location, ReadsEveryPartOfAPostgresqlUri) {
    const auto l = Location::parse("postgresql://planner@db.example:5433/county?schema=shangyu");
    ASSERT_TRUE(l.is_postgresql());
    EXPECT_EQ(l.user(), "planner");
    EXPECT_EQ(l.host(), "db.example");
    EXPECT_EQ(l.port(), 5433);
    EXPECT_EQ(l.database(), "county");
    EXPECT_EQ(l.schema(), "shangyu");
    EXPECT_TRUE(l.path().empty());
    EXPECT_EQ(l.display(), "postgresql://planner@db.example:5433/county?schema=shangyu");
    EXPECT_EQ(l.conninfo(), "dbname='county' host='db.example' port=5433 user='planner'");
}

TEST(Location, LeavesUserHostAndPortToLibpq) {
    const auto l = Location::parse("postgres:///county?schema=s1");
    ASSERT_TRUE(l.is_postgresql());
    EXPECT_EQ(l.user(), "");
    EXPECT_EQ(l.host(), "");
    EXPECT_FALSE(l.port().has_value());
    EXPECT_EQ(l.conninfo(), "dbname='county'");
    EXPECT_EQ(l.display(), "postgresql:///county?schema=s1");
}

TEST(Location, DecodesEscapesAndBracketedHosts) {
    const auto l = Location::parse("POSTGRESQL://wang%20li@[::1]:5432/my%27db?schema=s_2");
    EXPECT_EQ(l.user(), "wang li");
    EXPECT_EQ(l.host(), "::1");
    EXPECT_EQ(l.port(), 5432);
    EXPECT_EQ(l.database(), "my'db");
    EXPECT_EQ(l.conninfo(), "dbname='my\\'db' host='::1' port=5432 user='wang li'");
    EXPECT_EQ(l.display(), "postgresql://wang li@[::1]:5432/my'db?schema=s_2");
}

TEST(Location, RefusesAPasswordInTheUri) {
    const auto message = parse_error("postgresql://planner:secret@localhost/county?schema=s");
    EXPECT_THAT(message, HasSubstr("PGPASSWORD"));
    EXPECT_THAT(message, HasSubstr("~/.pgpass"));
    EXPECT_THAT(message, Not(HasSubstr("secret")));
    const auto as_parameter =
        parse_error("postgresql://planner@localhost/county?schema=s&password=secret");
    EXPECT_THAT(as_parameter, HasSubstr("PGPASSWORD"));
    EXPECT_THAT(as_parameter, Not(HasSubstr("secret")));
}

TEST(Location, RefusesIncompleteOrMalformedUris) {
    EXPECT_THAT(parse_error("postgresql://localhost/county"), HasSubstr("no schema"));
    EXPECT_THAT(parse_error("postgresql://localhost/?schema=s"), HasSubstr("no database"));
    EXPECT_THAT(parse_error("postgresql://localhost?schema=s"), HasSubstr("no database"));
    EXPECT_THAT(parse_error("postgresql://localhost:0/db?schema=s"), HasSubstr("port '0'"));
    EXPECT_THAT(parse_error("postgresql://localhost:54x/db?schema=s"), HasSubstr("port '54x'"));
    EXPECT_THAT(parse_error("postgresql://localhost:70000/db?schema=s"), HasSubstr("port '70000'"));
    EXPECT_THAT(parse_error("postgresql://localhost/db?schema=1abc"),
                HasSubstr("schema '1abc' is not a plain name"));
    EXPECT_THAT(parse_error("postgresql://localhost/db?schema=a;drop"),
                HasSubstr("is not a plain name"));
    EXPECT_THAT(parse_error("postgresql://localhost/db?schema=s&sslmode=require"),
                HasSubstr("unknown parameter 'sslmode'"));
    EXPECT_THAT(parse_error("postgresql://localhost/d%zzb?schema=s"), HasSubstr("%-escape"));
    EXPECT_THAT(parse_error(""), HasSubstr("empty"));
    // Every message shows the form to write.
    EXPECT_THAT(parse_error("postgresql://localhost/county"),
                HasSubstr("postgresql://USER@HOST:PORT/DB?schema=NAME"));
}

TEST(Location, OpeningAPostgresqlRegistryWithoutAServerNamesIt) {
    // Port 1 of the loopback: nothing listens there.
    try {
        Registry::open(Location::parse("postgresql://planner@127.0.0.1:1/county?schema=s"));
        FAIL() << "opened a PostgreSQL registry without a server";
    } catch (const DatabaseError &e) {
        EXPECT_THAT(
            e.what(),
            HasSubstr("cannot connect to postgresql://planner@127.0.0.1:1/county?schema=s"));
    }
}
