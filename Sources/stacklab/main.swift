print("stacklab")
