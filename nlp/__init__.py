"""Analysis of stored text: statements, speakers, stances and topics (spaCy, scikit-learn,
BERTopic). Reads and writes the knowledge base through ``kb``; never imports the web app.

Importing the package makes NumPy's developer tools lazy modules, before any module here
imports SciPy (see ``nlp.numpy_startup``).
"""

import logging

from nlp.numpy_startup import defer_numpy_tools

logging.getLogger(__name__).addHandler(logging.NullHandler())
defer_numpy_tools()
