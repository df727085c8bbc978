"""Small tunes shared by several test files."""

# The Kesh jig: 6/8, G major, a one-note pickup, 8 full bars and a short last bar.
KESH = """X:1
T:The Kesh
M:6/8
L:1/8
K:G
D|GAG GAB|ABA ABd|edd gdd|edB dBA|
GAG GAB|ABA ABd|edd gdB|AGF G2|]
"""
