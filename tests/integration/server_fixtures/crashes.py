import os
raise RuntimeError("cannot read the configuration")
