"""Ad-platform gateway: one API over Meta, TikTok and Apple ad sets."""
