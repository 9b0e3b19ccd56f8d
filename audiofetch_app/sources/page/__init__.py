"""Page audio: every track a page's players expose, downloaded in parallel to a ZIP or folder."""
