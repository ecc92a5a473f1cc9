"""NiFi's Expression Language: ``Hello ${name:toUpper()}!``.

How it is built: :mod:`.parser` reads the text (the template scanner handles literal text
and ``$$`` escapes, :mod:`.lexer` the tokens inside ``${}``) into a small tree
(:mod:`.nodes`); :mod:`.compiler` checks every function, its subject and its argument
count and kinds (errors carry a 1-based column and suggest close names) and turns the
tree into nested Python closures, folding constant parts. Evaluation is then only
closure calls over the lookup mapping: no re-parsing and no ``eval``. Functions live in
:mod:`.functions`, one module per family of NiFi's guide, each a table of plain Python
implementations; :mod:`.multi` handles ``anyAttribute`` and friends with ``count`` and
``join``; :mod:`.javadate` and :mod:`.javaregex` translate Java date patterns and
regular expressions; :mod:`.values` holds NiFi's types and coercions.

    >>> compile_expression("Hello ${name:toUpper()}!").evaluate({"name": "world"})
    'Hello WORLD!'
"""

from __future__ import annotations

from headwater.expression.template import Expression, compile_cached, compile_expression

__all__ = ["Expression", "compile_cached", "compile_expression"]
