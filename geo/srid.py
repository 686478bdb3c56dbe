"""Storage CRS: everything is stored as WGS84 longitude/latitude."""
SRID = 4326
# CGCS2000 (EPSG:4490) differs from WGS84 by centimetres; treated as equal at city scale.
EQUAL_TO_WGS84 = {"EPSG:4326", "EPSG:4490", "WGS84", "CGCS2000"}
