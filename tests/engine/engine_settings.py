"""Config overrides shared by the engine tests (a module of its own: ``conftest`` is
not importable by name when pytest collects several test folders)."""

TINY = [
    "model.options={channels = 4, norm = 'temporal'}",
    "preprocess.size=16",
    "data.clip_frames=64",
    "data.exclude=[]",
    "train.batch_size=2",
    "train.steps_per_epoch=2",
    "train.epochs=2",
    "train.lr=0.001",
    "views.windows_options={n_views = 2}",
]


#: TINY with the pass-through backbone, which is never collapsed on these clips.
PASS = [*TINY, "model.backbone='pass-through'", "model.options={}"]
