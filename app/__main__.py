import sys

from kith.app.cli import main

sys.exit(main())
