"""One document, start to end: parse, run every extractor, link, run the text stage; frames out."""

# The module the sandbox's fork server imports to start every worker warm (models loaded).
# Named, not imported: importing it here would load the language models in the parent.
PRELOAD_MODULE = f"{__name__}.preload"
# Imported after PRELOAD_MODULE by a fork server that is idle before its first document (``nichiiki run``).
OCR_PRELOAD_MODULE = f"{__name__}.preload_ocr"
