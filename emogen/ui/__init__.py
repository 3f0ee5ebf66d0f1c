"""The Streamlit creation UI (`emogen ui`): one page per modality, batch gallery and scoring uploads.

Page logic lives in importable modules (``emogen.ui.pages``) so that an installed emogen can serve the
app; ``ui/app.py`` in a source checkout is the same app for ``streamlit run ui/app.py``.
"""

# Settings shared by the server command and the pages; kept here, free of streamlit, so that `emogen ui` can
# say "install streamlit" instead of failing on the import.
UI_OUT_ENV = "EMOGEN_UI_OUT"  # where the pages save results (`emogen ui --out`)
MAX_UPLOAD_MB = 20
