"""One document, start to end: parse, run every extractor, link, run the text stage; frames out."""
