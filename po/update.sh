#!/usr/bin/env bash
# Regenerates po/qiancun.pot from the messages marked _(), N_() and P_() in the sources and
# merges it into every po/<lang>.po (new messages arrive untranslated: translate them, then
# rebuild). With --check, changes nothing and fails when qiancun.pot is not what the sources
# give (a message was added, changed or removed without running this script).
set -euo pipefail
cd "$(dirname "$0")/.."

pot_of_sources() {
    local tmp
    tmp=$(mktemp -d)
    git ls-files -- 'core/*.cpp' 'core/*.hpp' 'importers/*.cpp' 'importers/*.hpp' \
        'exporters/*.cpp' 'exporters/*.hpp' 'tools/qiancun/*.cpp' 'tools/qiancun/*.hpp' |
        grep -v 'core/include/qiancun/i18n.hpp' |
        xgettext --files-from=- --output=- --language=C++ --from-code=UTF-8 \
            --keyword=_ --keyword=N_ --keyword=P_:1,2 --keyword=NC_:1c,2 \
            --flag=_:1:no-c-format --flag=N_:1:no-c-format --flag=P_:1:no-c-format \
            --flag=P_:2:no-c-format --add-comments=TRANSLATORS: \
            --package-name=qiancun --msgid-bugs-address=qiancun --sort-by-file --no-location \
            --output="$tmp/cpp.pot"
    # The demo's narration: say 'FORMAT' in tools/demo.sh and tools/derive_next_month.sh.
    xgettext --output="$tmp/sh.pot" --language=Shell --from-code=UTF-8 --keyword --keyword=say \
        --package-name=qiancun --msgid-bugs-address=qiancun --no-location \
        tools/demo.sh tools/derive_next_month.sh
    msgcat --use-first --no-location "$tmp/cpp.pot" "$tmp/sh.pot" | sed '/^"POT-Creation-Date:/d'
    rm -rf "$tmp"
}

if [ "${1:-}" = "--check" ]; then
    expected=$(pot_of_sources)
    if [ "$expected" != "$(cat po/qiancun.pot)" ]; then
        diff <(printf '%s\n' "$expected") po/qiancun.pot || true
        echo "po/qiancun.pot is out of date: run po/update.sh and translate what is new" >&2
        exit 1
    fi
    exit 0
fi

pot_of_sources > po/qiancun.pot
for po in po/*.po; do
    msgmerge --quiet --update --backup=none --no-fuzzy-matching --no-location --sort-by-file \
        "$po" po/qiancun.pot
done
msgfmt --check --statistics -o /dev/null po/*.po
