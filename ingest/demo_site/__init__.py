"""The demo blog that ``cxkb demo`` serves on 127.0.0.1 and crawls (files in ``site/``)."""
