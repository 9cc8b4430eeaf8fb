#!/bin/sh
# Pack LM Scales.app into a compressed, read-only disk image with an Applications shortcut beside it, so a
# user drags the app across. Usage (packaging/build.py runs it):
#   sh packaging/macos/make_dmg.sh "dist/LM Scales.app" dist/LM-Scales-0.1.0-macos-arm64.dmg "LM Scales"
set -eu
app=$1
dmg=$2
volume=${3:-LM Scales}

[ -d "$app" ] || { echo "make_dmg.sh: no app bundle at $app" >&2; exit 1; }
stage=$(mktemp -d "${TMPDIR:-/tmp}/lmscales-dmg.XXXXXX")
trap 'rm -rf "$stage"' EXIT
# ditto keeps the bundle's symlinks, extended attributes and code signature intact (cp -R may not).
ditto "$app" "$stage/$(basename "$app")"
# Older builds wrote a verification stamp beside the model when run from dist/; never ship one.
find "$stage" -name '*.verified' -delete
ln -s /Applications "$stage/Applications"
rm -f "$dmg"
hdiutil create -volname "$volume" -srcfolder "$stage" -fs HFS+ -format UDZO -imagekey zlib-level=9 -ov "$dmg"
hdiutil verify "$dmg"
