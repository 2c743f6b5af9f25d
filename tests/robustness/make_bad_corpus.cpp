#include "bad_corpus.hpp"

#include <cstdio>
#include <exception>

/// Writes the bad-input corpus: `make_bad_corpus tests/data/bad` from the source tree.
int main(int argc, char **argv) {
    if (argc != 2) {
        std::fprintf(stderr, "usage: %s DIR (e.g. tests/data/bad)\n", argv[0]);
        return 2;
    }
    try {
        qiancun::testing::write_bad_corpus(argv[1]);
    } catch (const std::exception &e) {
        std::fprintf(stderr, "make_bad_corpus: %s\n", e.what());
        return 1;
    }
    return 0;
}
