"""Offline stand-in for the get-pip.py that ansible-test downloads to bootstrap pip.

ansible-test runs this file through runpy with pip's install arguments in sys.argv
(for example ``--disable-pip-version-check pip==24.2``). We install pip from the wheel
bundled with Python (ensurepip) and then let that pip install what was asked for from
the package index, which is reachable where the CI file server is not.
"""

import ensurepip
import os
import subprocess
import sys


def main():
    # ensurepip points PIP_CONFIG_FILE at /dev/null for its own run; the pip we then call
    # must see the machine's pip configuration (index, CA bundle) like any other pip.
    env = dict(os.environ)
    ensurepip.bootstrap(upgrade=True)
    args = [arg for arg in sys.argv[1:] if arg not in ('--no-setuptools', '--no-wheel')]
    sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args, env=env))


if __name__ == '__main__':
    main()
