"""Other departments' feeds: schools, pharmacies, weather, public opinion (舆情)."""
