"""Reading outputs back: diffs between extractions, the golden regression, the HTML review page."""
