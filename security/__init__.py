"""National cryptography (SM2/SM3/SM4) wrappers and secret handling; imports nothing of the project."""
