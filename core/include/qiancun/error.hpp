#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace qiancun {

/// Base of every failure the library reports; `what()` is one line a person can act on.
class Error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The caller asked for something that cannot be done (unknown kind, bad option value).
class UsageError : public Error {
public:
    using Error::Error;
};

/// Malformed input data. Carries the file, the layer and the 1-based row where known;
/// `what()` already names them.
class InputError : public Error {
public:
    InputError(std::string file, std::string layer, std::optional<std::int64_t> row,
               const std::string &problem);

    const std::string &file() const noexcept { return m_file; }
    const std::string &layer() const noexcept { return m_layer; }
    std::optional<std::int64_t> row() const noexcept { return m_row; }
    const std::string &problem() const noexcept { return m_problem; }

private:
    std::string m_file;
    std::string m_layer;
    std::optional<std::int64_t> m_row;
    std::string m_problem;
};

/// The registry database could not be read or written (locked, corrupt, not a registry).
class DatabaseError : public Error {
public:
    using Error::Error;
};

} // namespace qiancun
