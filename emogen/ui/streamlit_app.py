"""The file `emogen ui` serves (ui/app.py is the same app, for `streamlit run` from a checkout)."""
from emogen.ui.app import main

main()
