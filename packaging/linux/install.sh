#!/bin/sh
# Add LM Scales to your application menu, from wherever you unpacked it (nothing is copied but the menu
# entry and its icons, into ~/.local/share). Remove them again with:  ./install.sh --uninstall
set -eu
here=$(cd "$(dirname "$0")" && pwd)
data=${XDG_DATA_HOME:-$HOME/.local/share}
id=io.github.lmscales.LMScales
sizes="16 32 48 64 128 256 512"

if [ "${1:-}" = "--uninstall" ]; then
    rm -f "$data/applications/$id.desktop" "$data/metainfo/$id.metainfo.xml" \
        "$data/icons/hicolor/scalable/apps/$id.svg"
    for size in $sizes; do rm -f "$data/icons/hicolor/${size}x${size}/apps/$id.png"; done
    echo "LM Scales is no longer in the menu. Delete $here to remove the app itself."
    exit 0
fi

mkdir -p "$data/applications" "$data/metainfo" "$data/icons/hicolor/scalable/apps"
# The menu entry starts this copy: Exec gets its full path, quoted (the folder may contain spaces).
sed "s|^Exec=lmscales\$|Exec=\"$here/lmscales\"|" "$here/share/applications/$id.desktop" \
    > "$data/applications/$id.desktop"
cp "$here/share/metainfo/$id.metainfo.xml" "$data/metainfo/"
cp "$here/share/icons/hicolor/scalable/apps/$id.svg" "$data/icons/hicolor/scalable/apps/"
for size in $sizes; do
    mkdir -p "$data/icons/hicolor/${size}x${size}/apps"
    cp "$here/share/icons/hicolor/${size}x${size}/apps/$id.png" "$data/icons/hicolor/${size}x${size}/apps/"
done
command -v update-desktop-database >/dev/null 2>&1 && update-desktop-database -q "$data/applications" || true
command -v gtk-update-icon-cache >/dev/null 2>&1 && gtk-update-icon-cache -q -t "$data/icons/hicolor" || true
echo "LM Scales is in your application menu (it starts $here/lmscales)."
