@_exported import CairnCatalog
