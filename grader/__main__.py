import sys

from grader.parallel import main

sys.exit(main())
