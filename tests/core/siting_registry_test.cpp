#include "qiancun/config.hpp"
#include "qiancun/error.hpp"
#include "qiancun/geometry.hpp"
#include "qiancun/registry.hpp"
#include "qiancun/siting.hpp"
#include "testing/local_county.hpp"
#include "testing/testing.hpp"

#include <fmt/format.h>

#include <cmath>
#include <map>
#include <random>
#include <sstream>

namespace qiancun {
namespace {

using testing::TempDir;

/// A registry built feature by feature in one transaction (coordinates relative to kX0, kY0).
class SitingCounty : public testing::LocalCounty {
protected:
    MetricsConfig config() const { return MetricsConfig::defaults(m_registry.kinds()); }
};

TEST_F(SitingCounty, NetworkDistanceChoosesOtherSitesThanStraightLines) {
    // Two villages of 2 km × 2 km along a road on y = 500 from x = 0 to 3000.
    add("village", {{"code", std::string("330604101201")}, {"township", std::string("东关街道")}},
        square(0, 0, 2000));
    add("village", {{"code", std::string("330604101202")}, {"township", std::string("东关街道")}},
        square(2000, 0, 2000));
    add("rural_road", {{"id", std::string("R1")}, {"status", std::string("operating")}},
        fmt::format("LINESTRING({} {}, {} {})", kX0, kY0 + 500, kX0 + 3000, kY0 + 500));
    add("settlement", {{"id", std::string("S1")}, {"population", std::int64_t{100}}}, pt(100, 510));
    add("settlement", {{"id", std::string("S2")}, {"population", std::int64_t{200}}}, pt(900, 520));
    add("settlement", {{"id", std::string("S3")}, {"population", std::int64_t{250}}},
        pt(2500, 490));
    add("settlement", {{"id", std::string("S5")}, {"population", std::int64_t{40}}}, pt(1500, 505));
    // 990 m off the road: alone it is the largest, but along the roads a site there reaches
    // nobody (legs 990 + 990 > 1000 m, even to itself).
    add("settlement", {{"id", std::string("S4")}, {"population", std::int64_t{1000}}},
        pt(1300, 1490));
    add("sewage_plant", {{"id", std::string("P1")}, {"status", std::string("operating")}},
        pt(2600, 480));
    add("sewage_plant", {{"id", std::string("P2")}, {"status", std::string("planned")}},
        pt(1300, 1490));
    commit();

    SitingOptions options;
    options.type = "sewage_plant";
    options.add = 1;
    const SitingResult straight = plan_sites(m_registry, config(), options);
    EXPECT_EQ(straight.total_population, 1590);
    EXPECT_EQ(straight.covered_before, 250); // S3 by P1; the planned P2 does not serve
    ASSERT_EQ(straight.sites.size(), 1u);
    EXPECT_EQ(straight.sites[0].candidate, "S4");
    EXPECT_EQ(straight.sites[0].added_population, 1000);
    EXPECT_EQ(straight.sites[0].village_code, "330604101201");
    EXPECT_NEAR(straight.sites[0].x, kX0 + 1300, 1e-6);
    EXPECT_EQ(straight.covered_after, 1250);
    EXPECT_NEAR(straight.share_after, 1250.0 / 1590.0, 1e-12);
    EXPECT_EQ(straight.upper_bound_population, 1000);

    options.network = true;
    const SitingResult net = plan_sites(m_registry, config(), options);
    EXPECT_EQ(net.covered_before, 250); // S3: 10 + 100 + 20 m along the road
    ASSERT_EQ(net.sites.size(), 1u);
    // From S2: S1 at 20 + 800 + 10 = 830 m, S5 at 20 + 600 + 5 = 625 m; S1 reaches S5 only
    // at 10 + 1400 + 5 m.
    EXPECT_EQ(net.sites[0].candidate, "S2");
    EXPECT_EQ(net.sites[0].added_population, 340);
    EXPECT_EQ(net.sites[0].added_villages, 1);
    EXPECT_EQ(net.covered_after, 590);

    // Covering 80 % of the 1,590 people (1,272) needs S4 and S2 straight.
    options.network = false;
    options.add.reset();
    options.cover = 0.8;
    const SitingResult cover = plan_sites(m_registry, config(), options);
    EXPECT_EQ(cover.target_population, 1272);
    ASSERT_EQ(cover.sites.size(), 2u);
    EXPECT_EQ(cover.lower_bound_sites, 2);
    EXPECT_EQ(cover.covered_after, 1590);
    // Along the roads 80 % is out of reach: the message says how far the candidates get.
    options.network = true;
    try {
        (void)plan_sites(m_registry, config(), options);
        ADD_FAILURE() << "expected a UsageError";
    } catch (const UsageError &e) {
        EXPECT_THAT(e.what(), ::testing::HasSubstr("reach at most 37.1 % of the 1590 people"));
    }
}

TEST_F(SitingCounty, HazardZonesTownshipsAndCandidateSourcesAreRespected) {
    add("village", {{"code", std::string("330604101201")}, {"township", std::string("东关街道")}},
        square(0, 0, 1000));
    add("village", {{"code", std::string("330604101202")}, {"township", std::string("道墟街道")}},
        square(1000, 0, 1000));
    add("settlement", {{"id", std::string("A")}, {"population", std::int64_t{500}}}, pt(200, 200));
    add("settlement", {{"id", std::string("B")}, {"population", std::int64_t{50}}}, pt(800, 800));
    add("settlement", {{"id", std::string("C")}, {"population", std::int64_t{70}}}, pt(1500, 500));
    add("hazard", {{"id", std::string("H1")}}, square(100, 100, 200));
    commit();

    SitingOptions options;
    options.type = "sewage_plant";
    options.add = 1;
    options.radius_m = 300;
    EXPECT_EQ(plan_sites(m_registry, config(), options).sites.at(0).candidate, "A");
    options.exclude_hazard = true;
    const auto safe = plan_sites(m_registry, config(), options);
    EXPECT_EQ(safe.excluded_by_hazard, 1);
    EXPECT_EQ(safe.sites.at(0).candidate, "C");
    options.township = "东关街道";
    const auto township = plan_sites(m_registry, config(), options);
    EXPECT_EQ(township.total_population, 550);
    EXPECT_EQ(township.sites.at(0).candidate, "B");

    // A 500 m grid: cell centres at 250 and 750; (250, 250) is in the hazard zone, so the
    // best safe cell reaching A (500) is (250, 750) at 502 m … out of reach; with a 600 m
    // radius (750, 250) reaches A (559 m) and B (559 m).
    options.township.clear();
    options.candidates = "grid:500";
    options.radius_m = 600;
    const auto grid = plan_sites(m_registry, config(), options);
    EXPECT_EQ(grid.candidate_count, 7); // 8 cells in the villages, one in the hazard zone
    ASSERT_EQ(grid.sites.size(), 1u);
    EXPECT_EQ(grid.sites[0].added_population, 550);
    EXPECT_EQ(grid.sites[0].village_code, "330604101201");

    options.candidates = "grid:abc";
    EXPECT_THROW(plan_sites(m_registry, config(), options), UsageError);
    options.candidates = "rural_road";
    EXPECT_THROW(plan_sites(m_registry, config(), options), UsageError);
    options.candidates = "settlements";
    options.type = "rural_road";
    EXPECT_THROW(plan_sites(m_registry, config(), options), UsageError);
}

TEST_F(SitingCounty, GeneratedCountyIsWithinTwoPercentOfCbcComputedIndependently) {
    // 9 villages of 3 km, 240 settlements, two operating plants and a planned one.
    std::mt19937 rng(42);
    std::uniform_real_distribution<double> coord(0.0, 9000.0);
    std::uniform_int_distribution<int> people(20, 800);
    for (int i = 0; i < 9; ++i)
        add("village", {{"code", fmt::format("3306041012{:02}", i + 1)}},
            square(3000.0 * (i % 3), 3000.0 * (i / 3), 3000));
    struct S {
        double x, y;
        int population;
    };
    std::vector<S> settlements;
    for (int i = 0; i < 240; ++i) {
        settlements.push_back({coord(rng), coord(rng), people(rng)});
        add("settlement",
            {{"id", fmt::format("S{:03}", i)},
             {"population", std::int64_t{settlements.back().population}}},
            pt(settlements.back().x, settlements.back().y));
    }
    const std::vector<std::pair<double, double>> plants{{1500, 1500}, {7000, 4000}};
    add("sewage_plant", {{"id", std::string("P1")}, {"status", std::string("operating")}},
        pt(1500, 1500));
    add("sewage_plant", {{"id", std::string("P2")}, {"status", std::string("renovating")}},
        pt(7000, 4000));
    add("sewage_plant", {{"id", std::string("P3")}, {"status", std::string("planned")}},
        pt(4500, 4500));
    commit();

    SitingOptions options;
    options.type = "sewage_plant";
    options.add = 8;
    const SitingResult result = plan_sites(m_registry, config(), options);

    // The same problem computed here from the coordinates: open settlements are those farther
    // than 1,000 m from P1 and P2; every settlement is a candidate.
    std::int64_t total = 0;
    std::int64_t before = 0;
    std::vector<std::size_t> open;
    for (std::size_t i = 0; i < settlements.size(); ++i) {
        total += settlements[i].population;
        bool reached = false;
        for (const auto &[px, py] : plants)
            reached |= std::hypot(settlements[i].x - px, settlements[i].y - py) <= 1000.0;
        if (reached)
            before += settlements[i].population;
        else
            open.push_back(i);
    }
    EXPECT_EQ(result.total_population, total);
    EXPECT_EQ(result.covered_before, before);
    EXPECT_EQ(result.candidate_count, 240);

    std::ostringstream lp;
    lp << "Maximize\n obj:";
    for (std::size_t d = 0; d < open.size(); ++d)
        lp << " + " << settlements[open[d]].population << " y" << d;
    lp << "\nSubject To\n";
    for (std::size_t d = 0; d < open.size(); ++d) {
        lp << " d" << d << ": y" << d;
        for (std::size_t c = 0; c < settlements.size(); ++c)
            if (std::hypot(settlements[c].x - settlements[open[d]].x,
                           settlements[c].y - settlements[open[d]].y) <= 1000.0)
                lp << " - x" << c;
        lp << " <= 0\n";
    }
    lp << " sites:";
    for (std::size_t c = 0; c < settlements.size(); ++c)
        lp << " + x" << c;
    lp << " <= 8\nBounds\n";
    for (std::size_t d = 0; d < open.size(); ++d)
        lp << " 0 <= y" << d << " <= 1\n";
    lp << "Binaries\n";
    for (std::size_t c = 0; c < settlements.size(); ++c)
        lp << " x" << c << "\n";
    lp << "End\n";
    testing::write_file(m_dir / "county.lp", lp.str());
    const auto r = testing::run_command({"/usr/bin/cbc", (m_dir / "county.lp").string(), "solve",
                                         "solu", (m_dir / "county.sol").string()});
    ASSERT_EQ(r.exit_code, 0) << r.err;
    const std::string sol = testing::read_file(m_dir / "county.sol");
    ASSERT_EQ(sol.rfind("Optimal - objective value ", 0), 0u) << sol.substr(0, 200);
    const double optimum = std::stod(sol.substr(26));

    const auto added = static_cast<double>(result.covered_after - result.covered_before);
    EXPECT_LE(added, optimum + 1e-6);
    EXPECT_GE(added, 0.98 * optimum);
    EXPECT_GE(static_cast<double>(result.upper_bound_population), optimum - 1e-6);
    ASSERT_EQ(result.sites.size(), 8u);
    EXPECT_EQ(result.sites.back().cumulative_population,
              result.covered_after - result.covered_before);
    for (std::size_t i = 1; i < result.sites.size(); ++i)
        EXPECT_LE(result.sites[i].added_population, result.sites[i - 1].added_population);

    // Stored as the layer sites_sewage_plant with its rank order.
    write_sites_layer(m_registry, result);
    std::vector<std::int64_t> ranks;
    ScanRequest request;
    request.table = "sites_sewage_plant";
    request.columns = {"rank", "added_population"};
    request.xy = true;
    request.order_by = {"rank"};
    m_registry.scan(request, [&](const ScanRow &row) {
        ranks.push_back(std::get<std::int64_t>(row.values[0]));
        EXPECT_EQ(std::get<std::int64_t>(row.values[1]),
                  result.sites[ranks.size() - 1].added_population);
        ASSERT_TRUE(row.xy);
        EXPECT_NEAR(row.xy->first, result.sites[ranks.size() - 1].x, 1e-6);
    });
    EXPECT_EQ(ranks, (std::vector<std::int64_t>{1, 2, 3, 4, 5, 6, 7, 8}));
}

} // namespace
} // namespace qiancun
