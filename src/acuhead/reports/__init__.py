"""Reports rendered for people: the practice report page."""
