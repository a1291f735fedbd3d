"""`daml compare`: train several presets on the same seeds and budget, test each, and compare them.

    plan (presets × seeds, overrides, run folders) ──runs──▶ DIR/runs/<name>/seed<k>/{..., result.json}
        ──report──▶ DIR/report.json, DIR/report.md ──curves──▶ DIR/curves.png

The statistics (`stats`) and the report (`report`) are pure and import no torch.
"""
