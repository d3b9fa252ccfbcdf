"""`invoices eval`: predictions in worker processes (`predict`), scoring against eval-label/v1
labels (`scoring`), the printed tables and JSON figures (`report.evaluate_folder`).
"""
