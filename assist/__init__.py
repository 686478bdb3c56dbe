"""跨地区信息协查 (issue 19): investigation requests between districts, relayed and signed by the city platform."""
