"""What a file is and how it is read: formats, safe decoding, very large images and the
quality measures taken from the one decode."""
