"""Map layers: functions that turn stored rows into GeoJSON FeatureCollections for the maps."""
