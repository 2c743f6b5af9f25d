#include "metrics/sweep.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace qiancun::metrics {

namespace {

/// Appends the segments of `xy` (x0, y0, x1, y1, …) to `f(ax, ay, bx, by)`, closing the path
/// when `close` and its ends differ.
template <class F> void for_each_segment(std::span<const double> xy, bool close, F f) {
    const std::size_t n = xy.size() / 2;
    for (std::size_t i = 0; i + 1 < n; ++i)
        f(xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3]);
    if (close && n > 2 && (xy[0] != xy[2 * n - 2] || xy[1] != xy[2 * n - 1]))
        f(xy[2 * n - 2], xy[2 * n - 1], xy[0], xy[1]);
}

/// Sorts `items` by row into `out` (stable counting sort: rows are few and dense) and fills
/// `start` so that row r holds out[start[r] .. start[r + 1]).
template <class T, class Row>
void bucket_by_row(const std::vector<T> &items, std::size_t rows, Row row, std::vector<T> &out,
                   std::vector<std::uint32_t> &start, std::vector<std::uint32_t> &cursor) {
    start.assign(rows + 1, 0);
    for (const T &item : items)
        ++start[row(item) + 1];
    for (std::size_t r = 0; r < rows; ++r)
        start[r + 1] += start[r];
    out.resize(items.size());
    cursor.assign(start.begin(), start.end() - 1);
    for (const T &item : items)
        out[cursor[row(item)]++] = item;
}

} // namespace

namespace {

/// Edges flatter than this (|dy| / length) make the covered length change fast in y; their
/// end heights become strip boundaries.
constexpr double kFlat = 0.2;
/// Strip boundaries closer than this are one, metres.
constexpr double kSameHeightM = 1e-6;

} // namespace

void CoverageSweep::reset(std::vector<std::vector<double>> rings) {
    m_rings = std::move(rings);
    double y0 = std::numeric_limits<double>::infinity();
    double y1 = -y0;
    m_min_x = y0;
    m_max_x = y1;
    for (const auto &ring : m_rings) {
        for (std::size_t i = 0; i + 1 < ring.size(); i += 2) {
            m_min_x = std::min(m_min_x, ring[i]);
            m_max_x = std::max(m_max_x, ring[i]);
            y0 = std::min(y0, ring[i + 1]);
            y1 = std::max(y1, ring[i + 1]);
        }
    }
    m_y0 = y0;
    m_y1 = y1;
    m_h = y1 > y0 ? std::min(kMaxRowSpacingM, (y1 - y0) / static_cast<double>(kMinRows)) : 0.0;
    m_breaks.clear();
    if (y1 > y0)
        add_flat_edge_breaks(m_rings);
    m_ring_breaks = m_breaks;
    clear_reaches();
}

void CoverageSweep::clear_reaches() {
    m_discs.clear();
    m_segments.clear();
    m_solids.clear();
    m_breaks = m_ring_breaks;
}

void CoverageSweep::add_break(double y) {
    if (y > m_y0 && y < m_y1)
        m_breaks.push_back(y);
}

void CoverageSweep::add_flat_edge_breaks(const std::vector<std::vector<double>> &rings) {
    for (const auto &ring : rings) {
        for_each_segment(ring, true, [&](double ax, double ay, double bx, double by) {
            if (std::abs(by - ay) < kFlat * std::hypot(bx - ax, by - ay)) {
                add_break(ay);
                add_break(by);
            }
        });
    }
}

void CoverageSweep::add_disc(double x, double y, double r) {
    if (!(r > 0.0) || x + r < m_min_x || x - r > m_max_x || y + r < m_y0 || y - r > m_y1)
        return;
    m_discs.push_back({x, y, r});
    add_break(y - r);
    add_break(y + r);
}

void CoverageSweep::add_segment(double ax, double ay, double bx, double by, double r,
                                bool first_end, bool last_end) {
    if (std::max(ax, bx) + r < m_min_x || std::min(ax, bx) - r > m_max_x ||
        std::max(ay, by) + r < m_y0 || std::min(ay, by) - r > m_y1)
        return;
    const double length = std::hypot(bx - ax, by - ay);
    if (length == 0.0) {
        add_disc(ax, ay, r);
        return;
    }
    m_segments.push_back({ax, ay, bx, by, r, (bx - ax) / length, (by - ay) / length, length});
    // The top and bottom of a round end, where nothing else continues the corridor.
    if (first_end) {
        add_break(ay - r);
        add_break(ay + r);
    }
    if (last_end) {
        add_break(by - r);
        add_break(by + r);
    }
    // The long sides of a flat corridor.
    if (std::abs(by - ay) < kFlat * length) {
        const double side = r * (bx - ax) / length;
        for (const double y : {ay - side, ay + side, by - side, by + side})
            add_break(y);
    }
}

void CoverageSweep::add_line(std::span<const double> xy, double r) {
    if (!(r > 0.0) || xy.size() < 2)
        return;
    const std::size_t n = xy.size() / 2;
    if (n == 1) {
        add_disc(xy[0], xy[1], r);
        return;
    }
    for (std::size_t i = 0; i + 1 < n; ++i)
        add_segment(xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3], r, i == 0, i + 2 == n);
}

void CoverageSweep::add_polygon(const std::vector<std::vector<double>> &rings, double r) {
    if (!(r > 0.0))
        return;
    m_solids.push_back(rings);
    add_flat_edge_breaks(rings);
    for (const auto &ring : rings) {
        const std::size_t n = ring.size() / 2;
        if (n < 2) {
            add_line(ring, r);
            continue;
        }
        for_each_segment(ring, true, [&](double ax, double ay, double bx, double by) {
            add_segment(ax, ay, bx, by, r, true, true);
        });
    }
}

void CoverageSweep::make_rows() {
    m_row_y.clear();
    m_row_h.clear();
    std::sort(m_breaks.begin(), m_breaks.end());
    double a = m_y0;
    const auto strip = [&](double b) {
        if (b - a < kSameHeightM)
            return;
        const double n = std::ceil((b - a) / m_h);
        const double h = (b - a) / n;
        for (double j = 0.0; j < n; j += 1.0) {
            m_row_y.push_back(a + (j + 0.5) * h);
            m_row_h.push_back(h);
        }
        a = b;
    };
    for (const double b : m_breaks)
        strip(b);
    strip(m_y1);
}

std::pair<std::uint32_t, std::uint32_t> CoverageSweep::rows_between(double y0, double y1) const {
    const auto first = std::lower_bound(m_row_y.begin(), m_row_y.end(), y0);
    const auto last = std::upper_bound(first, m_row_y.end(), y1);
    return {static_cast<std::uint32_t>(first - m_row_y.begin()),
            static_cast<std::uint32_t>(last - m_row_y.begin())};
}

void CoverageSweep::crossings(const std::vector<std::vector<double>> &rings,
                              std::vector<std::pair<std::uint32_t, double>> &out) const {
    for (const auto &ring : rings) {
        for_each_segment(ring, true, [&](double ax, double ay, double bx, double by) {
            if (ay == by)
                return;
            // Half-open in y (lo ≤ y < hi): a row through a vertex meets exactly one of the
            // vertex's two edges when the ring passes through, none or both when it turns back,
            // so crossing parity stays right.
            const double lo = std::min(ay, by);
            const double hi = std::max(ay, by);
            const auto first = std::lower_bound(m_row_y.begin(), m_row_y.end(), lo);
            const auto end = std::lower_bound(first, m_row_y.end(), hi);
            const double slope = (bx - ax) / (by - ay);
            for (auto it = first; it != end; ++it)
                out.emplace_back(static_cast<std::uint32_t>(it - m_row_y.begin()),
                                 ax + (*it - ay) * slope);
        });
    }
}

namespace {

/// The points of the row at height y within r of (x, y0): false when there are none.
inline bool disc_interval(double x, double y0, double r, double y, double &lo, double &hi) {
    const double d = y - y0;
    if (!(std::abs(d) <= r))
        return false;
    const double w = std::sqrt(std::max(0.0, r * r - d * d));
    lo = x - w;
    hi = x + w;
    return true;
}

} // namespace

bool CoverageSweep::segment_interval(const Segment &s, double y, double &lo, double &hi) {
    // The reach of a segment is convex: the union of the discs at its ends and the rectangle
    // between them, whose intervals on this row join into one.
    constexpr double inf = std::numeric_limits<double>::infinity();
    lo = inf;
    hi = -inf;
    double l = 0.0, h = 0.0;
    if (disc_interval(s.ax, s.ay, s.r, y, l, h)) {
        lo = l;
        hi = h;
    }
    if (disc_interval(s.bx, s.by, s.r, y, l, h)) {
        lo = std::min(lo, l);
        hi = std::max(hi, h);
    }
    // Rectangle: 0 ≤ (P − A)·u ≤ L and |(P − A)·n| ≤ r with n = (−uy, ux), P = (x, y).
    const double ey = y - s.ay;
    double x0 = -inf;
    double x1 = inf;
    if (s.ux != 0.0) {
        double a = (0.0 - ey * s.uy) / s.ux;
        double b = (s.length - ey * s.uy) / s.ux;
        if (a > b)
            std::swap(a, b);
        x0 = std::max(x0, s.ax + a);
        x1 = std::min(x1, s.ax + b);
    } else if (ey * s.uy < 0.0 || ey * s.uy > s.length) {
        return lo <= hi;
    }
    if (s.uy != 0.0) {
        double a = (ey * s.ux - s.r) / s.uy;
        double b = (ey * s.ux + s.r) / s.uy;
        if (a > b)
            std::swap(a, b);
        x0 = std::max(x0, s.ax + a);
        x1 = std::min(x1, s.ax + b);
    } else if (std::abs(ey * s.ux) > s.r) {
        return lo <= hi;
    }
    if (x0 <= x1) {
        lo = std::min(lo, x0);
        hi = std::max(hi, x1);
    }
    return lo <= hi;
}

void CoverageSweep::polygon_spans(const std::vector<std::vector<double>> &rings) {
    m_cross.clear();
    crossings(rings, m_cross);
    std::sort(m_cross.begin(), m_cross.end());
    for (std::size_t i = 0; i + 1 < m_cross.size();) {
        if (m_cross[i].first != m_cross[i + 1].first) {
            ++i; // an odd crossing left over (see covered_fraction)
            continue;
        }
        m_spans.push_back({m_cross[i].first, m_cross[i].second, m_cross[i + 1].second});
        i += 2;
    }
}

double CoverageSweep::covered_fraction() {
    if (!(m_h > 0.0) || (m_discs.empty() && m_segments.empty() && m_solids.empty()))
        return 0.0;
    make_rows();
    const std::size_t rows = m_row_y.size();

    // The polygon's inside intervals per row.
    m_cross.clear();
    crossings(m_rings, m_cross);
    bucket_by_row(
        m_cross, rows, [](const auto &c) { return c.first; }, m_cross_sorted, m_start, m_cursor);
    m_inside_start.assign(rows + 1, 0);
    m_inside_length.assign(rows, 0.0);
    m_inside.clear();
    double inside_total = 0.0;
    for (std::size_t r = 0; r < rows; ++r) {
        auto *b = m_cross_sorted.data() + m_start[r];
        auto *e = m_cross_sorted.data() + m_start[r + 1];
        std::sort(b, e, [](const auto &p, const auto &q) { return p.second < q.second; });
        // An odd count only comes from a ring that is not closed in the plane (invalid input
        // the importers repair); its last crossing is ignored.
        double length = 0.0;
        for (auto *p = b; p + 1 < e; p += 2) {
            m_inside.push_back(p[0].second);
            m_inside.push_back(p[1].second);
            length += p[1].second - p[0].second;
        }
        inside_total += length * m_row_h[r];
        m_inside_length[r] = length;
        m_inside_start[r + 1] = static_cast<std::uint32_t>(m_inside.size());
    }
    if (!(inside_total > 0.0))
        return 0.0;

    // Footprint insides (rare) as spans by row; discs and segments row by row from an active
    // list, so that no interval is stored longer than its row.
    m_spans.clear();
    for (const auto &solid : m_solids)
        polygon_spans(solid);
    const bool footprints = !m_spans.empty();
    if (footprints)
        bucket_by_row(
            m_spans, rows, [](const Span &s) { return s.row; }, m_sorted, m_start, m_cursor);

    // Reaches that start inside the polygon's box ("near") usually cover most rows on their
    // own; the others are only evaluated on rows the near ones leave partly uncovered. With
    // large radii that skips most of the work (each reach spans thousands of rows) and changes
    // nothing: on a fully covered row more intervals cannot add length.
    const auto near_box = [&](double x0, double y0, double x1, double y1) {
        return x1 >= m_min_x && x0 <= m_max_x && y1 >= m_y0 && y0 <= m_y1;
    };
    m_pending.clear();
    for (std::uint32_t i = 0; i < m_discs.size(); ++i) {
        const Disc &d = m_discs[i];
        const auto [first, last] = rows_between(d.y - d.r, d.y + d.r);
        if (first < last)
            m_pending.push_back({first, last, i, true, near_box(d.x, d.y, d.x, d.y)});
    }
    for (std::uint32_t i = 0; i < m_segments.size(); ++i) {
        const Segment &s = m_segments[i];
        const auto [first, last] =
            rows_between(std::min(s.ay, s.by) - s.r, std::max(s.ay, s.by) + s.r);
        if (first < last)
            m_pending.push_back({first, last, i, false,
                                 near_box(std::min(s.ax, s.bx), std::min(s.ay, s.by),
                                          std::max(s.ax, s.bx), std::max(s.ay, s.by))});
    }
    std::sort(m_pending.begin(), m_pending.end(),
              [](const Reach &a, const Reach &b) { return a.first < b.first; });

    // Appends the intervals of the live reaches of `active` on row r; drops the dead ones.
    const auto add_intervals = [&](std::vector<Reach> &active, std::uint32_t r) {
        const double y = m_row_y[r];
        for (std::size_t i = 0; i < active.size();) {
            const Reach &a = active[i];
            if (a.last <= r) {
                active[i] = active.back();
                active.pop_back();
                continue;
            }
            double lo = 0.0, hi = 0.0;
            const bool hit = a.is_disc ? disc_interval(m_discs[a.index].x, m_discs[a.index].y,
                                                       m_discs[a.index].r, y, lo, hi)
                                       : segment_interval(m_segments[a.index], y, lo, hi);
            if (hit && hi > m_min_x && lo < m_max_x)
                m_row.push_back({r, lo, hi});
            ++i;
        }
    };
    // Length of the polygon's inside on row r covered by the spans in m_row.
    const auto covered_length = [&](std::uint32_t r) {
        std::sort(m_row.begin(), m_row.end(),
                  [](const Span &p, const Span &q) { return p.lo < q.lo; });
        const double *in = m_inside.data() + m_inside_start[r];
        const double *in_end = m_inside.data() + m_inside_start[r + 1];
        double length = 0.0;
        // Walk the union of the spans and the inside intervals together.
        for (auto s = m_row.begin(); s != m_row.end() && in != in_end;) {
            const double lo = s->lo;
            double hi = s->hi;
            for (++s; s != m_row.end() && s->lo <= hi; ++s)
                hi = std::max(hi, s->hi);
            while (in != in_end && in[1] <= lo)
                in += 2;
            for (const double *i = in; i != in_end && i[0] < hi; i += 2)
                length += std::max(0.0, std::min(hi, i[1]) - std::max(lo, i[0]));
        }
        return length;
    };

    m_active_near.clear();
    m_active_far.clear();
    std::size_t next = 0;
    double covered = 0.0;
    for (std::uint32_t r = 0; r < rows; ++r) {
        for (; next < m_pending.size() && m_pending[next].first == r; ++next)
            (m_pending[next].near ? m_active_near : m_active_far).push_back(m_pending[next]);
        m_row.clear();
        if (footprints)
            m_row.assign(m_sorted.begin() + m_start[r], m_sorted.begin() + m_start[r + 1]);
        add_intervals(m_active_near, r);
        double length = m_row.empty() ? 0.0 : covered_length(r);
        if (length < m_inside_length[r] && !m_active_far.empty()) {
            add_intervals(m_active_far, r);
            if (!m_row.empty())
                length = covered_length(r);
        }
        covered += length * m_row_h[r];
    }
    return std::clamp(covered / inside_total, 0.0, 1.0);
}

} // namespace qiancun::metrics
