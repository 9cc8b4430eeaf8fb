"""The presenter's look: two high-contrast themes and the line of keys at the bottom of the screen."""

from __future__ import annotations

# High contrast: body text at least 7:1 against the background (WCAG AAA) in both themes; the sides keep
# their hues from the main window, darkened or lightened until they pass 4.5:1 for large text.
THEMES: dict[str, dict[str, str]] = {
    "dark": {"bg": "#000000", "fg": "#ffffff", "muted": "#d0d0d0", "line": "#ffffff", "accent": "#ffd84d",
             "small": "#3fe0c5", "large": "#c2b0ff", "panel": "#111111"},
    "light": {"bg": "#ffffff", "fg": "#000000", "muted": "#2b2b2b", "line": "#000000", "accent": "#003d99",
              "small": "#00695a", "large": "#4a22c9", "panel": "#f2f2f2"},
}
KEY_HINT = "Space / PgDn next · PgUp back · S stop · N notes · T theme · E export · Esc leave"
