"""The models: loading open_clip models, image and text encoding, CoCa captions and the
open_nsfw classifier."""
