"""Analysis of stored text: statements, speakers, stances and topics (spaCy, scikit-learn,
BERTopic). Reads and writes the knowledge base through ``kb``; never imports the web app.
"""

import logging

logging.getLogger(__name__).addHandler(logging.NullHandler())
