"""Places: loading regions and institutions from files, and looking them up."""
