"""A faithful local simulator of the wenwen AI gateway (see docs/wenwen-api.md).

from simulator import Simulator, Fault
"""

from .faults import Fault
from .ledger import Ledger
from .mj_tasks import MjTask
from .records import RecordedRequest, Upload
from .server import Simulator
from .state import SimConfig

__all__ = ["Fault", "Ledger", "MjTask", "RecordedRequest", "SimConfig", "Simulator", "Upload"]
