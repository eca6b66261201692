"""A Babel extractor for words the kiosk shows but another package defines as plain strings.

The démarche categories' French names live in ``sync/vocabulary`` (shared with the federation
server, which knows nothing of the kiosk's gettext): ``make i18n`` reads them from there with
this extractor, configured in ``babel.cfg`` with the names of the dictionaries to read
(``names = CATEGORY_LABELS``). The file is parsed, never imported.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any


def dict_labels(
    fileobj: IO[bytes], keywords: Mapping[str, Any], comment_tags: Collection[str], options: Mapping[str, Any]
) -> Iterator[tuple[int, str | None, str, list[str]]]:
    """Every string value of the dictionaries assigned to the names in option ``names``."""
    names = set(str(options.get("names", "")).split())
    tree = ast.parse(fileobj.read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets, value = [node.target], node.value
        else:
            continue
        if not isinstance(value, ast.Dict) or not any(isinstance(t, ast.Name) and t.id in names for t in targets):
            continue
        for item in value.values:
            if isinstance(item, ast.Constant) and isinstance(item.value, str):
                yield item.lineno, None, item.value, []
