"""The help centre: guides and glossary from ``config/help``, rendered, searched and checked.

Guides are Markdown files with TOML front matter (see ``config/help/FORMAT.md``); glossary terms
written ``[[term]]`` become tappable definitions. Modules: ``text`` (folding, phonetic key, edit
distance, readability), ``content`` (loading guides, glossary, translations and synonyms),
``markup`` (Markdown → HTML with glossary links), ``search`` (FTS5 with synonyms and typos),
``checks`` (what an editor must fix; ``kiosk help check``) and ``centre`` (:class:`HelpCentre`,
the one object the shell and the website use).
"""

from kiosk.core.help.centre import HelpCentre
from kiosk.core.help.content import Article, GlossaryTerm, HelpError, Problem

__all__ = ["Article", "GlossaryTerm", "HelpCentre", "HelpError", "Problem"]
