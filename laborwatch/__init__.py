"""laborwatch: labor-relations risk monitoring and early warning (劳动关系领域风险监测预警).

This package is the composition root: the only code that joins the services.
"""
