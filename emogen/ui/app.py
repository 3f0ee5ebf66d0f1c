"""The app: Streamlit navigation over the pages that are installed (video and talking head appear once
their packages are importable)."""
from __future__ import annotations

import importlib

import streamlit as st

# Page modules in menu order; a page whose generator is not part of this install is left out of the menu.
PAGE_MODULES = ("image", "video", "speech", "talk", "music", "gallery", "score")


def available_page_modules() -> list:
    modules = []
    for name in PAGE_MODULES:
        try:
            module = importlib.import_module(f"emogen.ui.pages.{name}")
        except ModuleNotFoundError as err:
            if err.name and err.name.startswith("emogen.ui.pages"):
                continue  # this page is not written in this version
            raise
        modules.append(module)
    return modules


def main() -> None:
    st.set_page_config(page_title="emogen", page_icon=":material/mood:", layout="wide")
    modules = available_page_modules()
    navigation = st.navigation([st.Page(module.render, title=module.TITLE, icon=module.ICON,
                                        url_path=module.__name__.rsplit(".", 1)[-1], default=index == 0)
                                for index, module in enumerate(modules)])
    st.sidebar.caption("emogen: say how it should feel; every result shows its measured emotion.")
    navigation.run()
