"""The emogen creation UI: `emogen ui`, or `streamlit run ui/app.py` from a source checkout."""
from emogen.ui.app import main

main()
