"""PyInstaller's own PySide6.QtGui hook, without the Qt plugins LM Scales never wants.

Filtered here rather than after the analysis, so that their dependencies stay out too: the GTK 3 platform
theme alone would pull in the build machine's cairo, pango, glib, gdk-pixbuf and friends (and GTK itself,
which cannot be bundled, so the theme would not even load; Qt's Fusion style and the xdg-desktop-portal
theme remain). The EGLFS, linuxfb, VNC and similar platforms are for kiosks and embedded boards, and so are
the "generic" input plugins (evdev, TUIO touch over the network, which alone pulls in QtNetwork and Kerberos).
Of the image formats only SVG stays: the app's pictures are PNG (built into QtGui) and SVG.
"""

import re

from PyInstaller.utils.hooks.qt import add_qt6_dependencies

UNWANTED = re.compile(
    r"plugins[/\\](platforms[/\\]\w*(eglfs|linuxfb|vnc|minimal|vkkhrdisplay)"
    r"|egldeviceintegrations[/\\]|generic[/\\]"
    r"|imageformats[/\\]\w*(jpeg|webp|tiff|gif|ico|icns|wbmp|tga|pdf)"
    r"|platformthemes[/\\]\w*gtk3)",
    re.IGNORECASE,
)

hiddenimports, binaries, datas = add_qt6_dependencies(__file__)
binaries = [entry for entry in binaries if not UNWANTED.search(entry[0])]
