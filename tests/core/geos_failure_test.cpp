// The seam between GEOS's C API and qiancun: a predicate that raises inside GEOS returns 2,
// which must become an Error with GEOS's reason, never a "true".

#include "ffi/geos.hpp"
#include "qiancun/error.hpp"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace qiancun {
namespace {

using ::testing::HasSubstr;

/// The message of the Error `f` throws; "(no error)" when it returns.
template <typename F> std::string error_of(F &&f) {
    try {
        f();
    } catch (const Error &e) {
        return e.what();
    }
    return "(no error)";
}

TEST(GeosFailure, PredicateReturningTwoThrowsWithGeosReason) {
    auto &ctx = ffi::geos_context();
    const auto a = ffi::read_wkt(ctx, "POLYGON((0 0, 10 0, 10 10, 0 10, 0 0))");
    const auto b = ffi::read_wkt(ctx, "POINT(5 5)");
    // A DE-9IM pattern that is not 9 characters long: GEOS raises, the C API returns 2.
    const char raised = GEOSRelatePattern_r(ctx.handle(), a.get(), b.get(), "T*");
    ASSERT_EQ(raised, 2);
    EXPECT_THAT(error_of([&] { (void)ffi::predicate(ctx, raised, "village contains seat"); }),
                HasSubstr("village contains seat: "));
    // GEOS's own words travel with it, and the context is clean for the next call.
    const char raised_again = GEOSRelatePattern_r(ctx.handle(), a.get(), b.get(), "T*");
    const std::string message =
        error_of([&] { (void)ffi::predicate(ctx, raised_again, "relate"); });
    EXPECT_NE(message, "relate: unknown GEOS error");
    EXPECT_THAT(message, HasSubstr("relate: "));
    EXPECT_TRUE(ffi::predicate(
        ctx, GEOSRelatePattern_r(ctx.handle(), a.get(), b.get(), "T*****FF*"), "relate"));
    EXPECT_FALSE(ffi::predicate(ctx, 0, "relate"));
}

} // namespace
} // namespace qiancun
